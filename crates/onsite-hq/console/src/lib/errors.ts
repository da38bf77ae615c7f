import { ApiError } from './api';
import { t } from './i18n.svelte';

/** What an error says to the office, in its language. */
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return t('error.other', { code: 'client' });
  switch (e.code) {
    case 'bad_login':
      return t('error.bad_login');
    case 'rate_limited':
      return t('error.rate_limited', { seconds: e.retryAfter ?? 60 });
    case 'unauthorized':
      return t('error.unauthorized');
    case 'forbidden':
      return t('error.forbidden');
    case 'accounts_unavailable':
      return t('error.accounts_unavailable');
    case 'network':
      return t('error.network');
    case 'conflict':
      return t('error.conflict');
    case 'bad_request':
      return t('error.bad_request', { message: e.message });
    default:
      return t('error.other', { code: e.code });
  }
}
