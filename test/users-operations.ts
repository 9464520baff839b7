/** The users subgraph's operations as the tests send them through the gateway. */

export const AUTH_FIELDS = 'user { id email roles scopes } accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt';
export const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`;
export const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
export const REFRESH = `mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { ${AUTH_FIELDS} } }`;
export const LOGOUT = `mutation Logout($token: String!) { logout(refreshToken: $token) }`;
export const CHANGE_PASSWORD = `mutation Change($input: ChangePasswordInput!) { changePassword(input: $input) { ${AUTH_FIELDS} } }`;
export const REQUEST_RESET = `mutation RequestReset($email: String!) { requestPasswordReset(email: $email) }`;
export const RESET = `mutation Reset($input: ResetPasswordInput!) { resetPassword(input: $input) }`;
export const API_KEY_FIELDS = 'id name prefix scopes lastUsedAt createdAt revokedAt';
export const CREATE_KEY = `mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${API_KEY_FIELDS} } } }`;
export const REVOKE_KEY = `mutation RevokeKey($id: ID!) { revokeApiKey(id: $id) { ${API_KEY_FIELDS} } }`;
export const LIST_KEYS = `query Keys { apiKeys { ${API_KEY_FIELDS} } }`;

const LOOSE = { max: 1_000, windowSeconds: 60 };
/** Brute-force limits no test reaches, for files whose tests are not about them. */
export const LOOSE_BRUTE_FORCE_LIMITS = {
  LOGIN_LIMIT_PER_IP: LOOSE,
  LOGIN_LIMIT_PER_ACCOUNT_AND_IP: LOOSE,
  LOGIN_LIMIT_PER_ACCOUNT: LOOSE,
  REGISTER_LIMIT_PER_IP: LOOSE,
  PASSWORD_RESET_LIMIT_PER_IP: LOOSE,
  PASSWORD_RESET_LIMIT_PER_ACCOUNT: LOOSE,
};
