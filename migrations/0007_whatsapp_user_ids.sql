-- WhatsApp business-scoped user ids (BSUIDs, 2026): a user who adopts a username may message us
-- without their phone number. A profile is known by its phone number and/or its BSUID for each
-- business number; the number may appear later, and then belongs to the same profile.

-- A profile of a user known only by a BSUID has no number (yet). UNIQUE allows many NULLs and
-- the E.164 check passes on NULL.
ALTER TABLE profiles ALTER COLUMN phone_number DROP NOT NULL;
-- The user's latest BSUID: lets a message carrying the same one skip the identity write.
ALTER TABLE profiles ADD COLUMN whatsapp_user_id text;

CREATE TABLE profile_whatsapp_ids (
  business    text        NOT NULL, -- the business number's phone_number_id the user wrote to
  user_id     text        NOT NULL CHECK (user_id ~ '^[A-Za-z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$'),
  profile_id  bigint      NOT NULL REFERENCES profiles (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (business, user_id)
);
CREATE INDEX profile_whatsapp_ids_profile ON profile_whatsapp_ids (profile_id);
