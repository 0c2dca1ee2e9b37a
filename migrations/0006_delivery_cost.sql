-- What a message cost, as the providers report it, on the delivery log.
--
-- WhatsApp: the `pricing` object of status webhooks (per-message pricing since July 2025:
-- pricing_model PMP, category marketing/utility/authentication/service, type regular,
-- free_customer_service or free_entry_point; billable is deprecated in favour of type), recorded
-- the first time a status of the message carries it. SMS: the segment count and the encoding the
-- body went out in (GSM-7 or UCS-2), recorded when the provider accepted it. NULL when unknown
-- (inbound rows, rows sent before this migration, providers that report nothing).
ALTER TABLE message_delivery_log
  ADD COLUMN pricing_billable  boolean,
  ADD COLUMN pricing_model     text,
  ADD COLUMN pricing_category  text,
  ADD COLUMN pricing_type      text,
  ADD COLUMN sms_segments      integer CHECK (sms_segments > 0),
  ADD COLUMN sms_encoding      text    CHECK (sms_encoding IN ('GSM-7', 'UCS-2'));

-- Status callbacks that raced ahead of their send keep the provider's error code (the outbox acts
-- on some: re-engagement, undeliverable, per-user limits) and the pricing they carried.
ALTER TABLE delivery_status_early
  ADD COLUMN error_code  bigint,
  ADD COLUMN pricing     jsonb;
