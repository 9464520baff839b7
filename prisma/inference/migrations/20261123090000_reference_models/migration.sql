-- Reference data: the built-in CPU model every worker can serve without a GPU.
INSERT INTO "inference"."Model" ("id", "displayName", "backend", "contextWindow") VALUES
  ('lotabots-tiny-cpu', 'LotaBots Tiny (built-in CPU model)', 'cpu', 2048)
ON CONFLICT ("id") DO NOTHING;
