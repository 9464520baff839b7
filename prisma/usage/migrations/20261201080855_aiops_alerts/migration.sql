-- Alerts of the AIOps detector (issue 20, item 3): one open (FIRING) alert per metric at most,
-- by the unique firingMetric, which is NULL once the alert is RESOLVED.
-- CreateTable
CREATE TABLE "usage"."Alert" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "metric" TEXT NOT NULL,
    "firingMetric" TEXT,
    "state" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "baseline" DOUBLE PRECISION NOT NULL,
    "threshold" DOUBLE PRECISION NOT NULL,
    "startedAt" TIMESTAMPTZ(3) NOT NULL,
    "resolvedAt" TIMESTAMPTZ(3),
    "resolvedValue" DOUBLE PRECISION,

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Alert_seq_key" ON "usage"."Alert"("seq");

-- CreateIndex
CREATE UNIQUE INDEX "Alert_firingMetric_key" ON "usage"."Alert"("firingMetric");

-- CreateIndex
CREATE INDEX "Alert_state_seq_idx" ON "usage"."Alert"("state", "seq");
