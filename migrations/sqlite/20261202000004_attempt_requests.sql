-- The body an attempt sent, kept for deliveries to webhooks registered through the API (their owners inspect
-- them; the config's destinations are the operator's, who previews their templates instead). First 64 KiB.
ALTER TABLE attempts ADD COLUMN request_body TEXT;
