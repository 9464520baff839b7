-- AlterTable
ALTER TABLE "usage"."Invoice" ADD COLUMN     "currency" TEXT NOT NULL DEFAULT 'usd',
ADD COLUMN     "planId" TEXT NOT NULL;

-- AlterTable
ALTER TABLE "usage"."Plan" ADD COLUMN     "overageCentsPerThousandTokens" INTEGER NOT NULL DEFAULT 0;

-- DropTable
DROP TABLE "usage"."UsageDaily";

-- CreateTable
CREATE TABLE "usage"."UsageHourly" (
    "userId" UUID NOT NULL,
    "apiKeyId" TEXT NOT NULL DEFAULT '',
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "requests" BIGINT NOT NULL DEFAULT 0,
    "errors" BIGINT NOT NULL DEFAULT 0,
    "tokensIn" BIGINT NOT NULL DEFAULT 0,
    "tokensOut" BIGINT NOT NULL DEFAULT 0,
    "estimatedCost" BIGINT NOT NULL DEFAULT 0,
    "actualCost" BIGINT NOT NULL DEFAULT 0,
    "latencyMsTotal" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "UsageHourly_pkey" PRIMARY KEY ("userId","apiKeyId","hour")
);

-- CreateTable
CREATE TABLE "usage"."UsagePeriod" (
    "userId" UUID NOT NULL,
    "apiKeyId" TEXT NOT NULL DEFAULT '',
    "periodStart" TIMESTAMPTZ(3) NOT NULL,
    "requests" BIGINT NOT NULL DEFAULT 0,
    "errors" BIGINT NOT NULL DEFAULT 0,
    "tokensIn" BIGINT NOT NULL DEFAULT 0,
    "tokensOut" BIGINT NOT NULL DEFAULT 0,
    "estimatedCost" BIGINT NOT NULL DEFAULT 0,
    "actualCost" BIGINT NOT NULL DEFAULT 0,
    "latencyMsTotal" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "UsagePeriod_pkey" PRIMARY KEY ("userId","apiKeyId","periodStart")
);

-- CreateTable
CREATE TABLE "usage"."BillingExportOutbox" (
    "invoiceId" UUID NOT NULL,
    "body" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMPTZ(3),
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BillingExportOutbox_pkey" PRIMARY KEY ("invoiceId")
);

-- CreateIndex
CREATE INDEX "UsagePeriod_periodStart_idx" ON "usage"."UsagePeriod"("periodStart");

-- CreateIndex
CREATE INDEX "BillingExportOutbox_deliveredAt_nextAttemptAt_idx" ON "usage"."BillingExportOutbox"("deliveredAt", "nextAttemptAt");

-- AddForeignKey
ALTER TABLE "usage"."BillingExportOutbox" ADD CONSTRAINT "BillingExportOutbox_invoiceId_fkey" FOREIGN KEY ("invoiceId") REFERENCES "usage"."Invoice"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Reference data: overage prices (cents per started 1,000 tokens beyond the quota). Free has none.
UPDATE "usage"."Plan" SET "overageCentsPerThousandTokens" = 2 WHERE "id" = 'pro';
UPDATE "usage"."Plan" SET "overageCentsPerThousandTokens" = 1 WHERE "id" = 'enterprise';
