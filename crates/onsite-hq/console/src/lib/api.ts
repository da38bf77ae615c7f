// The console's calls to head office: same origin, the session cookie sent by the browser,
// the CSRF token on every change. Errors come back as ApiError with head office's code.
import type {
  ApiToken,
  AuditRecord,
  Device,
  EnrolmentCode,
  Technician,
  Me,
  NewApiTokenReply,
  NewApiTokenRequest,
  NewUserRequest,
  User,
} from './bindings';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait, from Retry-After (429, 503). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

let csrf: string | null = null;

/** Remembers the session's CSRF token (from sign-in or /me). */
export function setCsrf(token: string | null): void {
  csrf = token;
}

const SAFE = new Set(['GET', 'HEAD']);

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE.has(method) && csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network', 'head office does not answer');
  }
  const text = await res.text();
  if (!res.ok) {
    let code = 'other';
    let message = res.statusText;
    try {
      const e = JSON.parse(text) as { code?: string; message?: string };
      code = e.code ?? code;
      message = e.message ?? message;
    } catch {
      // Not an ErrorBody (a proxy's page): the status says enough.
    }
    const retry = Number(res.headers.get('Retry-After'));
    throw new ApiError(res.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  return (text ? JSON.parse(text) : null) as T;
}

export const api = {
  login: (username: string, password: string) => call<Me>('POST', '/v1/console/login', { username, password }),
  me: () => call<Me>('GET', '/v1/console/me'),
  logout: () => call<null>('POST', '/v1/console/logout'),
  users: () => call<User[]>('GET', '/v1/admin/users'),
  addUser: (u: NewUserRequest) => call<User>('POST', '/v1/admin/users', u),
  setDisabled: (id: string, disabled: boolean) =>
    call<User>('POST', `/v1/admin/users/${encodeURIComponent(id)}/${disabled ? 'disable' : 'enable'}`),
  tokens: () => call<ApiToken[]>('GET', '/v1/admin/api-tokens'),
  addToken: (t: NewApiTokenRequest) => call<NewApiTokenReply>('POST', '/v1/admin/api-tokens', t),
  revokeToken: (id: string) => call<ApiToken>('POST', `/v1/admin/api-tokens/${encodeURIComponent(id)}/revoke`),
  technicians: () => call<Technician[]>('GET', '/v1/admin/technicians?limit=1000'),
  addTechnician: (name: string) => call<Technician>('POST', '/v1/admin/technicians', { name }),
  enrolmentCode: (technician: string) =>
    call<EnrolmentCode>('POST', `/v1/admin/technicians/${encodeURIComponent(technician)}/enrolment-codes`, {}),
  devices: () => call<Device[]>('GET', '/v1/admin/devices?limit=1000'),
  revokeDevice: (id: string) => call<Device>('POST', `/v1/admin/devices/${encodeURIComponent(id)}/revoke`),
  markLost: (id: string) => call<Device>('POST', `/v1/admin/devices/${encodeURIComponent(id)}/lost`),
  audit: (before?: number) =>
    call<AuditRecord[]>('GET', `/v1/admin/audit?limit=50${before === undefined ? '' : `&before=${before}`}`),
};
