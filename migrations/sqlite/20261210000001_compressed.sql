-- Envelopes and raw bodies compressed (zstd with the dictionary its frame names): the frame in `…_z`, the
-- plain column then empty. Rows written before keep their plain form and no frame.
ALTER TABLE events ADD COLUMN envelope_z BLOB;
ALTER TABLE event_raw ADD COLUMN body_z BLOB;
