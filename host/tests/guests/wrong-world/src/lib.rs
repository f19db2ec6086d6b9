//! Test guest: a valid component that targets some other world.
wit_bindgen::generate!({
    inline: "
        package acme:greeter@1.0.0;
        interface greet { hello: func() -> string; }
        world greeter { export greet; }
    ",
});

struct Greeter;

impl exports::acme::greeter::greet::Guest for Greeter {
    fn hello() -> String {
        "hello".into()
    }
}

export!(Greeter);
