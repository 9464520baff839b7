-- Reference data: the plans every deployment offers. Later migrations change them.
INSERT INTO "usage"."Plan" ("id", "displayName", "monthlyTokenQuota", "costBudgetPerMinute", "priceCentsPerMonth") VALUES
  ('free', 'Free', 100000, 1000, 0),
  ('pro', 'Pro', 5000000, 10000, 4900),
  ('enterprise', 'Enterprise', 100000000, 100000, 99900)
ON CONFLICT ("id") DO NOTHING;
