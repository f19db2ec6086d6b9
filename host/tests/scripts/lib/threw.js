// What `body` threw, or undefined: for checks on typed errors.
export function threw(body) {
  try {
    body();
    return undefined;
  } catch (err) {
    return err;
  }
}
