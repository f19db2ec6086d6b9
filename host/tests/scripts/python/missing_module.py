# Needs a package the runtime does not have.
import faker
