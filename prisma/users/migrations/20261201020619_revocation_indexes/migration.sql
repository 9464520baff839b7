-- CreateIndex
CREATE INDEX "ApiKey_revokedAt_idx" ON "users"."ApiKey"("revokedAt");

-- CreateIndex
CREATE INDEX "RefreshToken_revokedAt_idx" ON "users"."RefreshToken"("revokedAt");
