-- The paper a document is laid out for (issue 10): 'a4' or 'roll_80mm' (the receipts are
-- made on both). Rows made before this column read as their kind's usual paper (A4)
-- until `documents::fill_paper` reads the page size from their file.
ALTER TABLE document ADD COLUMN paper TEXT CHECK (paper IS NULL OR paper IN ('a4', 'roll_80mm'));
