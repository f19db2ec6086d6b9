//! Test guest: built against a WIT version this host does not speak
//! (`vespid:scenario@9.0.0`).
wit_bindgen::generate!({
    inline: "
        package vespid:scenario@9.0.0;
        interface runner { run: func(task: string) -> result<_, string>; }
        world scenario { export runner; }
    ",
});

struct Future;

impl exports::vespid::scenario::runner::Guest for Future {
    fn run(_task: String) -> Result<(), String> {
        Ok(())
    }
}

export!(Future);
