-- The messages a target posted, kept so a later delivery can edit them (a grab's message, edited by its
-- import): not Discord's alone once other chat targets edit messages too.
ALTER TABLE discord_messages RENAME TO sent_messages;
DROP INDEX discord_messages_created_at;
CREATE INDEX sent_messages_created_at ON sent_messages (created_at);
