"""What Zeventerpen's residents ask, in their own words, and how often: the simulator's subject mix.

Every text is one a resident could write or an agent could note down, and the router's keyword match finds
its subject in the catalog (a unit test keeps it so). A catalog subject without texts here is still asked,
by its title.
"""

from __future__ import annotations

#: The classic examples, one per line of the first demo; the benchmark draws from them.
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("phone", "Mijn paspoort verloopt volgende maand, hoe vraag ik een nieuwe aan?"),
    ("web", "Kan ik een id kaart aanvragen voor mijn dochter van 8?"),
    ("counter", "Ik kom voor mijn identiteitskaart, wat moet ik meenemen?"),
    ("chat", "hoe lang duurt het voor mn paspoort klaar is"),
    ("phone", "De kliko is kapot, het deksel is eraf gebroken."),
    ("web", "Onze container heeft een kapot wiel, kan die gerepareerd worden?"),
    ("email", "Mijn afvalbak is bij het legen kapotgegaan. Graag een nieuwe."),
    ("phone", "Ik wil een oud bankstel en een matras laten ophalen."),
    ("web", "Wanneer kan ik grofvuil laten ophalen? Het gaat om meubels."),
    ("letter", "Graag wil ik een afspraak maken om grof vuil op te laten halen."),
    ("phone", "Ik heb een vraag over de bomen in mijn straat."),
    ("email", "Wie kan mij helpen met een vraag over mijn buren?"),
    ("phone", "Ja hallo, ik bel over mijn zorgtoeslag, die is gestopt."),
    ("web", "Wanneer krijg ik mijn AOW? Ik word volgend jaar 67."),
    ("email", "Ik wil een klacht indienen over de medewerker aan de balie, die was erg onvriendelijk."),
    ("web", "Mijn achternaam is verkeerd gespeld in de basisregistratie, kan dat worden aangepast?"),
    ("phone", "Kunt u mij terugbellen over mijn aanvraag? Ik ben nu aan het werk."),
    ("chat", "ik heb een idee voor een speeltuin in de wijk"),
)

#: Texts per catalog subject (onderwerp).
TEXTS: dict[str, tuple[str, ...]] = {
    "klacht": (
        "Ik wil een klacht indienen over de medewerker aan de balie, die was erg onvriendelijk.",
        "Ik ben erg ontevreden, ik heb al drie keer gebeld en niemand belt terug. Dit is een klacht.",
    ),
    "correctie-brp": (
        "Mijn achternaam is verkeerd gespeld in de basisregistratie, kan dat worden aangepast?",
        "Mijn geboortedatum staat fout in de BRP, hoe laat ik dat corrigeren?",
    ),
    "idee": (
        "ik heb een idee voor een speeltuin in de wijk",
        "Een suggestie: zet meer bankjes in het park bij de vijver.",
    ),
    "terugbelverzoek": (
        "Kunt u mij terugbellen over mijn aanvraag? Ik ben nu aan het werk.",
        "Wilt u mij vanmiddag terugbellen? Ik sta nu in de winkel.",
    ),
    "toeslagen": (
        "Ja hallo, ik bel over mijn zorgtoeslag, die is gestopt.",
        "Hoeveel huurtoeslag krijg ik als ik alleen ga wonen?",
    ),
    "inkomstenbelasting": ("Ik heb een brief van de Belastingdienst over mijn aangifte inkomstenbelasting.",),
    "uwv-uitkering": ("Ik ben werkloos geworden, waar vraag ik een WW-uitkering aan?",),
    "svb-aow-kinderbijslag": (
        "Wanneer krijg ik mijn AOW? Ik word volgend jaar 67.",
        "Mijn kinderbijslag is niet overgemaakt deze maand.",
    ),
    "duo-studiefinanciering": ("Hoe vraag ik studiefinanciering aan voor mijn zoon?",),
    "rdw-voertuig": ("Ik heb mijn auto verkocht, hoe zet ik het kenteken over?",),
    "cak-eigen-bijdrage": ("Waarom moet ik een eigen bijdrage betalen aan het CAK voor mijn hulp?",),
    "paspoort-id": (
        "Mijn paspoort verloopt volgende maand, hoe vraag ik een nieuwe aan?",
        "Kan ik een id kaart aanvragen voor mijn dochter van 8?",
        "Ik kom voor mijn identiteitskaart, wat moet ik meenemen?",
        "hoe lang duurt het voor mn paspoort klaar is",
    ),
    "rijbewijs": (
        "Mijn rijbewijs verloopt, hoe kan ik het verlengen?",
        "Ik ben mijn rijbewijs kwijt, wat moet ik doen?",
    ),
    "uittreksel-brp": (
        "Ik heb een uittreksel uit de BRP nodig voor mijn nieuwe werkgever.",
        "Hoe kom ik aan een afschrift van mijn geboorteakte?",
    ),
    "adresonderzoek": ("Er staat nog iemand op mijn adres ingeschreven die hier al lang niet meer woont.",),
    "inschrijving-buitenland": ("Wij gaan emigreren naar Spanje, wat moet ik regelen bij de gemeente?",),
    "verhuizing": (
        "Wij zijn verhuisd, hoe geef ik ons nieuwe adres door?",
        "Ik ga volgende maand verhuizen binnen Zeventerpen, moet ik dat melden?",
    ),
    "huwelijk-partnerschap": ("Wij willen volgend jaar trouwen, hoe melden wij het voorgenomen huwelijk?",),
    "aangifte-geboorte": ("Onze baby is gisteren geboren, hoe doe ik aangifte van de geboorte?",),
    "aangifte-overlijden": ("Mijn vader is overleden, wat moet ik regelen met de aangifte van overlijden?",),
    "naturalisatie": ("Ik woon hier zes jaar, hoe kan ik naturaliseren tot Nederlander?",),
    "vog": ("Mijn nieuwe werkgever vraagt een verklaring omtrent het gedrag, hoe vraag ik die aan?",),
    "stempas": ("Ik ben mijn stempas kwijt, kan ik toch stemmen?",),
    "grofvuil": (
        "Ik wil een oud bankstel en een matras laten ophalen.",
        "Wanneer kan ik grofvuil laten ophalen? Het gaat om meubels.",
        "Graag wil ik een afspraak maken om grof vuil op te laten halen.",
    ),
    "container-aanvragen": ("Wij willen een extra container voor papier, kan dat?",),
    "container-niet-geleegd": (
        "Onze container is vandaag niet geleegd, de hele straat wel.",
        "Het restafval is niet opgehaald, wanneer komen ze alsnog?",
    ),
    "container-kapot": (
        "De kliko is kapot, het deksel is eraf gebroken.",
        "Onze container heeft een kapot wiel, kan die gerepareerd worden?",
        "Mijn afvalbak is bij het legen kapotgegaan. Graag een nieuwe.",
    ),
    "afvalkalender": ("Welke dag wordt het plastic opgehaald in mijn straat? Ik kan de afvalkalender niet vinden.",),
    "gft-tuinafval": ("Waar laat ik mijn snoeiafval en takken na het snoeien van de heg?",),
    "milieustraat": ("Wat zijn de openingstijden van de milieustraat op zaterdag?",),
    "melding-openbare-ruimte": (
        "De lantaarnpaal voor ons huis doet het al een week niet.",
        "Er ligt een losse stoeptegel op de stoep, mijn moeder is bijna gevallen.",
    ),
    "omgevingsvergunning": ("Heb ik een omgevingsvergunning nodig voor een dakkapel?",),
    "kapvergunning": ("Mag ik de grote boom in mijn achtertuin kappen of heb ik een kapvergunning nodig?",),
    "evenementenvergunning": ("Wij willen een buurtfeest organiseren in onze straat, hoe vraag ik dat aan?",),
    "geluidsoverlast": (
        "Wie kan mij helpen met een vraag over mijn buren?",
        "De buren draaien elke nacht harde muziek, ik heb last van geluidsoverlast.",
    ),
    "parkeervergunning": ("Hoe vraag ik een bewonersvergunning aan om in mijn straat te parkeren?",),
    "gehandicaptenparkeerkaart": ("Ik loop slecht, kan ik een gehandicaptenparkeerkaart aanvragen?",),
    "parkeerboete": ("Ik heb een parkeerbon gekregen terwijl ik wel had betaald.",),
    "bijzondere-bijstand": ("Ik heb een laag inkomen en kan mijn tandarts niet betalen, is er bijzondere bijstand?",),
    "bijstandsuitkering": ("Ik heb geen werk en geen inkomen meer, hoe vraag ik bijstand aan?",),
    "schuldhulpverlening": ("Ik heb schulden en krijg steeds aanmaningen, waar kan ik hulp krijgen?",),
    "wmo-ondersteuning": (
        "Mijn moeder kan de trap niet meer op, kan ze een traplift krijgen via de Wmo?",
        "Ik heb hulp bij het huishouden nodig na mijn operatie.",
    ),
    "jeugdhulp": ("Wij hebben hulp nodig bij het opvoeden van onze puber, waar kunnen wij terecht?",),
    "leerlingenvervoer": ("Mijn zoon gaat naar het speciaal onderwijs, kan hij met de schooltaxi?",),
    "kwijtschelding": ("Ik kan de gemeentelijke belastingen niet betalen, kan ik kwijtschelding krijgen?",),
    "gemeentelijke-belastingen": ("Kan ik de aanslag gemeentelijke belastingen in termijnen betalen?",),
    "bezwaar-woz": ("De WOZ-waarde van mijn huis is veel te hoog, hoe maak ik bezwaar?",),
    "hondenbelasting": ("Wij hebben een puppy, moet ik die aanmelden voor de hondenbelasting?",),
    "afspraak": (
        "Ik wil mijn afspraak van donderdag verzetten naar een andere datum.",
        "Kan ik mijn afspraak annuleren? Ik ben ziek.",
    ),
    "openingstijden": ("Hoe laat is het gemeentehuis open op donderdag?",),
    "algemeen": ("Ik heb een vraag over de bomen in mijn straat.",),
}

#: How often each subject is asked, relative to the others; a catalog subject not named here counts 1.
WEIGHTS: dict[str, float] = {
    "paspoort-id": 12, "rijbewijs": 6, "verhuizing": 5, "uittreksel-brp": 4, "afspraak": 5,
    "grofvuil": 6, "container-niet-geleegd": 5, "container-kapot": 3, "container-aanvragen": 3,
    "afvalkalender": 3, "melding-openbare-ruimte": 5, "openingstijden": 3, "omgevingsvergunning": 3,
    "parkeervergunning": 3, "gemeentelijke-belastingen": 3, "wmo-ondersteuning": 3, "toeslagen": 3,
    "terugbelverzoek": 3, "klacht": 2, "huwelijk-partnerschap": 2, "aangifte-geboorte": 2, "vog": 2,
    "gft-tuinafval": 2, "milieustraat": 2, "geluidsoverlast": 2, "parkeerboete": 2, "bijzondere-bijstand": 2,
    "bijstandsuitkering": 2, "schuldhulpverlening": 2, "kwijtschelding": 2, "bezwaar-woz": 2,
    "inkomstenbelasting": 2, "uwv-uitkering": 2, "svb-aow-kinderbijslag": 2, "algemeen": 2,
}

#: What the counter's appointments are for (the appointment system's product, its queue) and how often.
COUNTER_PRODUCTS: tuple[tuple[str, str, float], ...] = (
    ("paspoort-id", "reisdocumenten", 6),
    ("rijbewijs", "rijbewijzen", 3),
    ("verhuizing", "burgerzaken", 1),
    ("uittreksel-brp", "burgerzaken", 1),
    ("huwelijk-partnerschap", "burgerzaken", 0.5),
    ("aangifte-geboorte", "burgerzaken", 0.5),
)

#: Said again by a resident whose earlier contact did not settle it: a repeat turned complaint.
REPEAT_COMPLAINT = ("Ik heb hier al eerder contact over gehad en er is nog steeds niets gebeurd. "
                    "Ik wil een klacht indienen.")
