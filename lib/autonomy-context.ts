/**
 * Task contexts of autonomy settings are short identifiers such as "code-review" or
 * "email.drafts". Shared by the autonomy subgraph, which stores settings per context, and the
 * inference subgraph, which checks a job's context before asking for its level.
 */
export const AUTONOMY_CONTEXT_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const AUTONOMY_CONTEXT_RULE = '1-64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit';
