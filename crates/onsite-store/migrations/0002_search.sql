-- Full-text search over work orders (order number, customer name, phone, address,
-- appliance model and serial). Two indexes, because Chinese has no spaces:
--  * search_tri (trigram): any substring of 3 or more characters, CJK or not.
--  * search_short (unicode61 over text where each CJK run is spelled out as its single
--    characters and its pairs): 1- and 2-character terms such as 王 or 王伟.
-- Rows are kept in step by the store (see workorders::reindex), rowid = work_order.seq.
CREATE VIRTUAL TABLE search_tri USING fts5(body, tokenize = 'trigram remove_diacritics 1');
CREATE VIRTUAL TABLE search_short USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
