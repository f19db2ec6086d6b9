// Every kind of grant against what the run granted (tests/it/permissions.rs):
// the granted ones work, each other attempt fails with the denial the host
// counted. BASE_URL is granted; OTHER_URL (another server) and SECRET are not.
import vespid, { check, data, http, sql, vu } from 'vespid';
import { SharedArray } from 'k6/data';
import { threw } from './lib/threw.js';

// The script's own data: no grant needed, whatever `data` lists.
const cities = new SharedArray('cities', () => ['Oslo', 'Lima']);

function denied(err) {
  return err instanceof vespid.HttpError && err.kind === 'denied' && err.code === 1111 && err.message.includes('denied: HTTP to');
}

export default function () {
  const base = vu.env('BASE_URL');
  check('granted env key', base !== undefined);
  check('env key not granted', vu.env('SECRET') === undefined && vu.envAll().SECRET === undefined);
  check('granted host', http.get(`${base}/`).status === 200);
  check('host not granted', denied(threw(() => http.get(`${vu.env('OTHER_URL')}/`))));
  const away = encodeURIComponent(`${vu.env('OTHER_URL')}/`);
  check('redirect to a host not granted', denied(threw(() => http.get(`${base}/redirect-to?url=${away}`))));
  check('granted data set', data.len('users') === 3);
  check('own shared array', cities.length === 2 && cities[1] === 'Lima');
  check('undeclared data set', threw(() => data.len('nowhere')) instanceof ReferenceError);
  const hidden = threw(() => data.len('secrets'));
  check('data set not granted', hidden.name === 'PermissionError' && hidden.permission === 'data');
  check('granted datasource', sql.query('main', 'select 1 as one')[0].one === 1);
  const refused = threw(() => sql.query('private', 'select 1'));
  check('datasource not granted', refused instanceof vespid.SqlError && refused.kind === 'denied' && refused.message.includes('denied: datasource'));
}
