// The JS twin of the http-probe guest's failure paths: one GET to URL per
// iteration; a transport error fails the iteration with its text.
import http from 'k6/http';
import { check, fail } from 'k6';

const timeout = __ENV.TIMEOUT_MS ? Number(__ENV.TIMEOUT_MS) : undefined;

export default function () {
  const response = http.get(__ENV.URL, timeout === undefined ? {} : { timeout });
  if (response.status === 0) fail(response.error);
  if (__ENV.EXPECT_STATUS) check(response, { [`status is ${__ENV.EXPECT_STATUS}`]: (r) => r.status === Number(__ENV.EXPECT_STATUS) });
}
