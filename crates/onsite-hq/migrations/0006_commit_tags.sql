-- Issue 9: every commit gets a random tag when it is made. Devices name the newest commit
-- they know of as <seq>:<tag>; a database restored from a backup and written again reuses
-- sequence numbers but never their tags, so head office can tell that a device's history
-- is not its own, with or without --new-epoch.
ALTER TABLE commits ADD COLUMN tag TEXT;
UPDATE commits SET tag = lower(hex(randomblob(8))) WHERE tag IS NULL;
