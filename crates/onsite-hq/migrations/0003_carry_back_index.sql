-- The head-office list of carry-backs reads the carry-back facts by kind.
CREATE INDEX facts_kind ON facts(kind, seq);
