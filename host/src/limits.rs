//! The machine's limits a run must fit in: open files (one socket per VU
//! per origin; up to `batch-per-host` for a VU that batches) and memory
//! maps (about six per live instance). Raises the soft file limit to the
//! hard one, refuses with the remedy a run that cannot fit — before
//! anything starts — and warns when batching VUs could exceed it.

use crate::Error;

/// Files the process needs besides VU sockets (binary, cache, stdio, epoll…).
const FILES_RESERVED: u64 = 256;
/// Memory maps per live VU with the pooling allocator and no copy-on-write
/// memory image (measured 4.0 at 10,000 VUs; `cargo xtask bench`), plus
/// slack for guests with a second memory.
const MAPS_PER_VU: u64 = 5;
const MAPS_RESERVED: u64 = 4096;

/// Checks that `vus` VUs fit this machine: each needs one connection; one
/// that batches may hold up to `batch_per_host` to an origin.
pub fn ensure_room_for(vus: u32, batch_per_host: u32) -> Result<(), Error> {
    if let Some(limit) = raise_file_limit()
        && let Some(warning) = check_open_files(vus, batch_per_host, limit)?
    {
        tracing::warn!("{warning}");
    }
    let vus = u64::from(vus);
    if let Some(max_maps) = max_map_count() {
        let needed = vus * MAPS_PER_VU + MAPS_RESERVED;
        if needed > max_maps {
            return Err(Error::Limit(format!(
                "{vus} VUs need about {needed} memory maps but vm.max_map_count is {max_maps}: raise it (`sysctl -w vm.max_map_count={}`) or run fewer VUs per process",
                needed.next_power_of_two()
            )));
        }
    }
    Ok(())
}

/// Refuses a run whose VUs cannot each hold one connection under `limit`
/// open files (every VU uses one); warns when they cannot each hold
/// `batch_per_host` (only VUs that batch do, and a connection that cannot
/// open fails just its request).
fn check_open_files(vus: u32, batch_per_host: u32, limit: u64) -> Result<Option<String>, Error> {
    let vus = u64::from(vus);
    let needed = vus + FILES_RESERVED;
    if needed > limit {
        return Err(Error::Limit(format!(
            "{vus} VUs need about {needed} open files but the hard limit is {limit} (the soft one was raised to it): raise the hard limit (LimitNOFILE={needed}, nofile in /etc/security/limits.conf, or `ulimit -Hn {needed}` as root) or run fewer VUs per process"
        )));
    }
    let batching = vus * u64::from(batch_per_host) + FILES_RESERVED;
    Ok((batching > limit).then(|| {
        format!(
            "{vus} VUs batching requests may hold {batch_per_host} connections each to one origin, about {batching} open files, but the limit is {limit}: requests that cannot connect will fail; raise the hard limit (LimitNOFILE={batching}) or lower --batch-per-host"
        )
    }))
}

/// Raises the soft open-files limit to the hard one; returns the new limit.
fn raise_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(err) => {
            tracing::debug!("cannot read or raise the open-files limit: {err}");
            None
        }
    }
}

fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_fits_and_a_huge_one_is_refused_with_a_remedy() {
        assert!(ensure_room_for(10, 6).is_ok());
        let err = ensure_room_for(u32::MAX, 6).unwrap_err().to_string();
        assert!(err.contains("open files") || err.contains("vm.max_map_count"), "{err}");
        assert!(err.contains("raise the hard limit") || err.contains("raise it"), "{err}");
    }

    #[test]
    fn one_connection_per_vu_must_fit_and_batching_past_the_limit_warns() {
        assert!(matches!(check_open_files(1000, 6, 10_000), Ok(None)));
        let warning = check_open_files(2000, 6, 10_000).unwrap().expect("12,256 files may be needed");
        assert!(warning.contains("12256") && warning.contains("--batch-per-host"), "{warning}");
        let err = check_open_files(10_000, 1, 10_000).unwrap_err().to_string();
        assert!(err.contains("10256 open files") && err.contains("LimitNOFILE=10256"), "{err}");
    }
}
