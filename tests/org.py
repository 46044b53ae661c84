"""A small organisation for rule tests, independent of the example catalog's wording."""

from plumbing.organisation import Organisation

TEST_ORGANISATION = Organisation.model_validate({
    "name": "Gemeente Testdorp",
    "general_subject": "algemeen",
    "callback_subject": "terugbelverzoek",
    "closing_days": ["2026-12-24", "2026-12-31"],
    "legal_designated_days": ["2026-05-15"],  # the Friday after Ascension, by decree
    "desks": {"generalist": "kcc", "complaints": "klachten", "registry": "brp", "ideas": "kcc"},
    "departments": [{"code": c, "name": c.title()} for c in ("kcc", "burgerzaken", "afval", "klachten", "brp")],
    "referrals": [{"code": "belastingdienst", "name": "Belastingdienst", "phone": "0800-0543",
                   "web": "https://www.belastingdienst.nl"}],
    "subjects": [
        {"code": "paspoort", "title": "Paspoort aanvragen", "keywords": ["paspoort", "id kaart"],
         "department": "burgerzaken", "answer": "Maak een afspraak bij Burgerzaken.",
         "case_type": "reisdocument", "norm_working_days": 5},
        {"code": "container", "title": "Kapotte container", "keywords": ["kliko", "container", "kapot"],
         "department": "afval", "case_type": "reparatie-container", "norm_working_days": 5},
        {"code": "grofvuil", "title": "Grofvuil ophalen", "keywords": ["grofvuil", "bankstel", "ophalen"],
         "department": "afval", "case_type": "grofvuil", "norm_working_days": 10},
        {"code": "parkeervergunning", "title": "Parkeervergunning", "keywords": ["vergunning", "parkeren"],
         "department": "burgerzaken", "answer": "Vraag hem aan via de website."},
        {"code": "toeslagen", "title": "Toeslagen", "keywords": ["zorgtoeslag", "huurtoeslag"],
         "referral": "belastingdienst"},
        {"code": "klacht", "title": "Klacht", "kind": "complaint", "keywords": ["klacht"],
         "department": "klachten", "case_type": "klacht", "legal_term_weeks": 6, "legal_basis": "Awb art. 9:11"},
        {"code": "correctie", "title": "Correctie gegevens", "kind": "correction", "keywords": ["verkeerd gespeld"],
         "department": "brp", "case_type": "correctie", "norm_working_days": 10, "legal_term_weeks": 4,
         "legal_basis": "Wet BRP art. 2.58"},
        {"code": "idee", "title": "Idee", "kind": "idea", "keywords": ["idee", "suggestie"],
         "department": "kcc", "case_type": "suggestie", "norm_working_days": 15},
        {"code": "terugbelverzoek", "title": "Terugbelverzoek", "kind": "callback", "keywords": ["bel mij terug"],
         "department": "kcc", "case_type": "terugbelverzoek", "norm_working_days": 2},
        {"code": "algemeen", "title": "Algemene vraag", "department": "kcc", "case_type": "algemene-vraag",
         "norm_working_days": 3},
    ],
})
