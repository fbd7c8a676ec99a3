// The TypeScript client of the CRM API: `schema.d.ts` is generated from the gateway's
// /openapi.json by openapi-typescript; openapi-fetch turns it into a typed fetch client.
// `make sdk` writes this file, schema.d.ts and tsconfig.json to sdk/ts/; tests type-check them.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths };
export type Schemas = components["schemas"];

/** A client for the gateway at `baseUrl` (for example `https://crm.example.com`). */
export function createCrmClient(baseUrl: string, accessToken?: string) {
  const headers: Record<string, string> = {};
  if (accessToken !== undefined) headers.Authorization = `Bearer ${accessToken}`;
  return createClient<paths>({ baseUrl, headers });
}

/** Sign in and list the first page of clients: shows the calls are typed end to end. */
export async function firstClients(baseUrl: string, email: string, password: string) {
  const anonymous = createCrmClient(baseUrl);
  const signedIn = await anonymous.POST("/api/v1/auth/token", { body: { email, password } });
  if (signedIn.data === undefined) throw new Error(signedIn.error.title);
  const api = createCrmClient(baseUrl, signedIn.data.access_token);
  const page = await api.GET("/api/v1/clients", { params: { query: { limit: 10 } } });
  if (page.data === undefined) throw new Error(page.error.title);
  return page.data;
}
