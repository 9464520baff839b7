import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * GraphiQL from the installed `@graphql-yoga/render-graphiql` (its scripts, styles and
 * editor workers inlined in the page) instead of Yoga's default page, which loads them from
 * a CDN and is a blank "Loading" page without internet. The bundle (about 9 MB) is imported
 * on the first page asked for, so a process nobody opens GraphiQL on never loads it, and the
 * page is rendered once per set of options and kept as bytes (outside the JS heap).
 */
export function offlineGraphiQL(): (options: GraphiQLOptions) => Promise<Uint8Array<ArrayBuffer>> {
  let rendered: { key: string; page: Promise<Uint8Array<ArrayBuffer>> } | null = null;
  return (options) => {
    const key = JSON.stringify(options);
    if (rendered?.key !== key) {
      const page = import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => new TextEncoder().encode(renderGraphiQL(options)));
      rendered = { key, page };
    }
    return rendered.page;
  };
}
