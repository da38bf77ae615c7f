-- Issue 10: each warranty component belongs to the appliance categories it is really part
-- of (DOMAIN.md: water purifiers, electric vehicles, furniture, electronics; the demo's
-- water_purifier, water_heater, water_softener). 0003 gave every component to every
-- category (''), so the diagnosis offered a water purifier a compressor, glass, a heater
-- and a mirror. The generic water-appliance parts (pump, valve, tank, fitting, filter,
-- electrical) and the whole appliance stay for every category. Pricing still knows these
-- components on any appliance (visit::rules_config falls back to a category's row).
DELETE FROM warranty_component
 WHERE category = '' AND code IN ('heater', 'glass', 'mirror', 'compressor');
INSERT OR IGNORE INTO warranty_component (category, code, name_zh, name_en, term, months) VALUES
    ('water_heater', 'heater',     '加热管', 'Heating element', 'default', NULL),
    ('electronics',  'heater',     '加热管', 'Heating element', 'default', NULL),
    ('furniture',    'glass',      '玻璃',   'Glass',           'months',  6),
    ('furniture',    'mirror',     '镜子',   'Mirror',          'months',  6),
    ('electronics',  'compressor', '压缩机', 'Compressor',      'months',  36);
