//! The state QuickJS fixes when it makes a context and that must differ
//! per VU: `Math.random`'s seed and `performance`'s time origin. A snapshot
//! (`wizer-initialize`) would otherwise give every VU the seed and the
//! clock reading of the moment the snapshot was made.

use std::cell::Cell;

use rquickjs::{Ctx, Function, Object, Result};

thread_local! {
    /// `Math.random`'s xorshift64* state; never 0.
    static STATE: Cell<u64> = const { Cell::new(1) };
}

/// Replaces `Math.random` with one whose state [`start`] sets: QuickJS
/// keeps its own in the context, out of reach, seeded once from the clock.
pub fn install(ctx: &Ctx<'_>) -> Result<()> {
    let math: Object = ctx.globals().get("Math")?;
    math.set("random", Function::new(ctx.clone(), random)?.with_name("random")?)
}

/// Gives this VU its own `Math.random` sequence (from WASI's `random`) and
/// a `performance` whose time origin is now.
pub fn start(ctx: &Ctx<'_>) -> std::result::Result<(), String> {
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|err| format!("no random seed for Math.random: {err}"))?;
    STATE.set(u64::from_le_bytes(seed).max(1));
    // Redefines the global `performance` with `timeOrigin` (and
    // `performance.now()`'s zero) at this moment, as a fresh context has it.
    #[allow(unsafe_code)] // rquickjs has no safe way to reset the origin
    let failed = unsafe { rquickjs::qjs::JS_AddPerformance(ctx.as_raw().as_ptr()) } != 0;
    if failed {
        return Err("cannot reset performance.timeOrigin".into());
    }
    Ok(())
}

/// QuickJS's own generator and conversion (xorshift64*, 52 random bits in
/// [0, 1)), so scripts see the same distribution as before.
fn random() -> f64 {
    let mut x = STATE.get();
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    STATE.set(x);
    let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
    f64::from_bits((0x3ff << 52) | (bits >> 12)) - 1.0
}
