// With LKG_AUTH=required the API wants `Authorization: Bearer <key>`: the page asks for a read
// key once (see main.js) and keeps it for the tab's session only; GraphiQL offers it as a header.
// A module of its own, so that GraphiQL's bundle does not change with the page's queries.
const KEY = "lkg.apiKey";
export const apiKey = {
  get: () => sessionStorage.getItem(KEY),
  set: (key) => (key ? sessionStorage.setItem(KEY, key) : sessionStorage.removeItem(KEY)),
};
