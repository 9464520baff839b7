-- Plans carry the gateway's limits, monthly quotas and overage prices (issue 18, item 2).
-- Columns are added with a temporary default so the seeded rows can be filled in, then the
-- defaults are dropped: every plan states each value itself.
ALTER TABLE "usage"."Plan" DROP COLUMN "costBudgetPerMinute",
ADD COLUMN     "bucketSize" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "editedAt" TIMESTAMP(3),
ADD COLUMN     "maxOperationCost" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "monthlyRequestQuota" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "overageCentsPerThousandRequests" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "requestQuotaHard" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "requestsPerWindow" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "restorePerSecond" DOUBLE PRECISION NOT NULL DEFAULT 0,
ADD COLUMN     "tokenQuotaHard" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "windowSeconds" INTEGER NOT NULL DEFAULT 60;
-- The metering and billing migration (20261201044500) adds the same column on its branch.
ALTER TABLE "usage"."Plan" ADD COLUMN IF NOT EXISTS "overageCentsPerThousandTokens" INTEGER NOT NULL DEFAULT 0;

-- Limits equal the gateway's defaults (RATE_LIMIT_PLANS, COST_PLANS), so a plan never edited
-- is enforced the same whether the gateway reads it from Redis or from its environment.
-- Free is capped (hard quotas, no overage); paid plans run past their quotas and pay overage.
INSERT INTO "usage"."Plan" ("id", "displayName", "monthlyTokenQuota", "priceCentsPerMonth") VALUES
  ('free', 'Free', 100000, 0), ('pro', 'Pro', 5000000, 4900), ('enterprise', 'Enterprise', 100000000, 99900)
ON CONFLICT ("id") DO NOTHING;
UPDATE "usage"."Plan" SET "bucketSize" = 1000, "restorePerSecond" = 50, "requestsPerWindow" = 600, "windowSeconds" = 60,
  "maxOperationCost" = 1000, "monthlyRequestQuota" = 100000, "requestQuotaHard" = true, "tokenQuotaHard" = true,
  "overageCentsPerThousandRequests" = 0, "overageCentsPerThousandTokens" = 0 WHERE "id" = 'free';
UPDATE "usage"."Plan" SET "bucketSize" = 5000, "restorePerSecond" = 250, "requestsPerWindow" = 3000, "windowSeconds" = 60,
  "maxOperationCost" = 10000, "monthlyRequestQuota" = 2000000, "requestQuotaHard" = false, "tokenQuotaHard" = false,
  "overageCentsPerThousandRequests" = 10, "overageCentsPerThousandTokens" = 2 WHERE "id" = 'pro';
UPDATE "usage"."Plan" SET "bucketSize" = 20000, "restorePerSecond" = 1000, "requestsPerWindow" = 12000, "windowSeconds" = 60,
  "maxOperationCost" = 100000, "monthlyRequestQuota" = 50000000, "requestQuotaHard" = false, "tokenQuotaHard" = false,
  "overageCentsPerThousandRequests" = 5, "overageCentsPerThousandTokens" = 1 WHERE "id" = 'enterprise';

ALTER TABLE "usage"."Plan" ALTER COLUMN "bucketSize" DROP DEFAULT,
ALTER COLUMN "maxOperationCost" DROP DEFAULT,
ALTER COLUMN "monthlyRequestQuota" DROP DEFAULT,
ALTER COLUMN "overageCentsPerThousandRequests" DROP DEFAULT,
ALTER COLUMN "requestQuotaHard" DROP DEFAULT,
ALTER COLUMN "requestsPerWindow" DROP DEFAULT,
ALTER COLUMN "restorePerSecond" DROP DEFAULT,
ALTER COLUMN "tokenQuotaHard" DROP DEFAULT,
ALTER COLUMN "windowSeconds" DROP DEFAULT;
