-- The back office: a case's two clocks, who holds it, personal data in a table of its own, the full history,
-- the contact history of every party, deadline alarms, an inbox of processed events and the access log of
-- personal-data reads.

-- Personal data needed for the work lives here and nowhere else.
CREATE TABLE case_parties (
    case_id   text PRIMARY KEY REFERENCES cases (case_id),
    party     jsonb,           -- name, BSN, e-mail, phone as the party gave them
    question  text             -- the question in the party's words
);
INSERT INTO case_parties (case_id, party, question)
SELECT case_id, party, question FROM cases WHERE party IS NOT NULL OR question IS NOT NULL;
ALTER TABLE cases DROP COLUMN party, DROP COLUMN question;

ALTER TABLE cases RENAME COLUMN due_date TO service_due;
ALTER TABLE cases
    ADD COLUMN contact_id            text,
    ADD COLUMN assignee              text,              -- worker id of who holds the case
    ADD COLUMN version               integer NOT NULL DEFAULT 1,  -- the ETag: every change adds one
    ADD COLUMN opened_on             date,              -- the day the question came in: both clocks start here
    ADD COLUMN norm_working_days     integer CHECK (norm_working_days > 0),
    ADD COLUMN legal_due             date,
    ADD COLUMN legal_days            integer CHECK (legal_days > 0),   -- the legal term, suspensions and extension included
    ADD COLUMN legal_basis           text,
    ADD COLUMN suspended_on          date,              -- set while suspended (opgeschort): neither clock runs
    ADD COLUMN suspended_working_days integer NOT NULL DEFAULT 0,
    ADD COLUMN suspension_reason     text,
    ADD COLUMN extension_weeks       integer NOT NULL DEFAULT 0 CHECK (extension_weeks BETWEEN 0 AND 4),
    ADD COLUMN extension_reason      text,
    ADD COLUMN resolution            text,              -- the answer for the citizen
    ADD COLUMN resolved_at           timestamptz,
    ADD COLUMN updated_at            timestamptz NOT NULL DEFAULT now();
UPDATE cases SET opened_on = (requested_at AT TIME ZONE 'Europe/Amsterdam')::date WHERE opened_on IS NULL;
ALTER TABLE cases ALTER COLUMN opened_on SET NOT NULL;

CREATE INDEX cases_assignee_idx ON cases (assignee) WHERE assignee IS NOT NULL;
CREATE INDEX cases_department_due_idx ON cases (department, service_due) WHERE status <> 'resolved';

-- Who, when, what, why: every change of a case, notes included.
ALTER TABLE case_status_history
    ADD COLUMN action  text NOT NULL DEFAULT 'opened',  -- opened, claimed, released, transferred, suspended, ...
    ADD COLUMN reason  text;
ALTER TABLE case_status_history ALTER COLUMN action DROP DEFAULT;
CREATE INDEX case_status_history_case_idx ON case_status_history (case_id, id);

-- Klantcontacten: every decided contact of a party, from loket.decisions.v1. No personal data: the pseudonym.
CREATE TABLE contacts (
    question_id      text PRIMARY KEY,   -- a redelivered decision is the same contact
    contact_id       text NOT NULL,
    party_pseudonym  text,
    channel          text NOT NULL,
    subject_code     text NOT NULL,
    outcome          text NOT NULL,
    rule             text NOT NULL,
    case_id          text,               -- the case it opened or joined, if any
    department       text,
    decided_at       timestamptz NOT NULL
);
CREATE INDEX contacts_party_idx ON contacts (party_pseudonym, decided_at) WHERE party_pseudonym IS NOT NULL;
CREATE INDEX contacts_case_idx ON contacts (case_id) WHERE case_id IS NOT NULL;

-- Deadline alarms: one row per case, clock and level; ``emitted_at`` is set once, in the transaction that puts
-- its event in the outbox, so a level is announced exactly once, restarts or not.
CREATE TABLE deadline_alarms (
    case_id     text NOT NULL REFERENCES cases (case_id),
    clock       text NOT NULL CHECK (clock IN ('service', 'legal')),
    level       text NOT NULL,
    due_on      date NOT NULL,        -- the day the level is reached; moves with suspension and extension
    emitted_at  timestamptz,
    PRIMARY KEY (case_id, clock, level)
);
CREATE INDEX deadline_alarms_due_idx ON deadline_alarms (due_on) WHERE emitted_at IS NULL;

-- Event ids already handled, per consumer: a redelivered event has no second effect.
CREATE TABLE inbox (
    consumer      text NOT NULL,
    event_id      text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- The AVG's account of processing: every read of a case's personal data or of a klantbeeld.
CREATE TABLE personal_data_reads (
    id               bigserial PRIMARY KEY,
    worker_id        text NOT NULL,
    role             text NOT NULL,
    read_at          timestamptz NOT NULL DEFAULT now(),
    what             text NOT NULL CHECK (what IN ('case-party', 'klantbeeld')),
    party_pseudonym  text,
    case_id          text,
    purpose          text NOT NULL
);

ALTER TABLE outbox ADD COLUMN event_type text;
