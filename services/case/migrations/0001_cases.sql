-- Cases (zaken), their status history, and the outbox of events that announce them.

CREATE TABLE cases (
    case_id          text PRIMARY KEY,
    request_id       text NOT NULL UNIQUE,  -- event id of the OpenCase command: inserting is idempotent on it
    question_id      text NOT NULL,
    case_type        text NOT NULL,
    department       text NOT NULL,
    subject_code     text NOT NULL,
    channel          text NOT NULL,
    party_pseudonym  text,
    party            jsonb,                 -- personal data needed for the work; nowhere else
    question         text,
    status           text NOT NULL DEFAULT 'registered'
                     CHECK (status IN ('registered', 'in_progress', 'resolved')),
    priority         text NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal', 'high')),
    due_date         date NOT NULL,
    requested_at     timestamptz NOT NULL,
    opened_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX cases_party_idx ON cases (party_pseudonym) WHERE party_pseudonym IS NOT NULL;
CREATE INDEX cases_department_status_idx ON cases (department, status);

CREATE TABLE case_status_history (
    id          bigserial PRIMARY KEY,
    case_id     text NOT NULL REFERENCES cases (case_id),
    status      text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL
);

CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    topic         text NOT NULL,        -- the contract's topic name, without the deployment's prefix
    message_key   text NOT NULL,
    payload       text NOT NULL,        -- the event exactly as it goes on the wire
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);

CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
