//! Test guest: imports Vespid's `log` but exports no runner.
wit_bindgen::generate!({
    inline: "
        package vespid:scenario@0.1.0;
        interface log {
            enum level { trace, debug, info, warn, error }
            write: func(level: level, message: string);
        }
        interface helper { noop: func(); }
        world half { import log; export helper; }
    ",
});

struct Half;

impl exports::vespid::scenario::helper::Guest for Half {
    fn noop() {
        vespid::scenario::log::write(vespid::scenario::log::Level::Info, "noop");
    }
}

export!(Half);
