//! The run's data sets: the run file's `[data.NAME]` tables, then the
//! `--data` flags, then the bundles' own; a name given twice is an error.

use super::file::{RunFile, Source};
use super::{ConfigError, Overrides};
use crate::caps::{DataFormat, DataSource};

pub fn data_sets(
    file: Option<(&Source, &RunFile)>,
    args: &Overrides,
    bundled: Vec<DataSource>,
) -> Result<Vec<DataSource>, ConfigError> {
    let mut data = match file {
        Some((source, file)) => data_from_file(source, file)?,
        None => Vec::new(),
    };
    for (name, path) in &args.data {
        let source = DataSource::new(name.clone(), path.into(), None)
            .map_err(|source| ConfigError::DataFlag { name: name.clone(), source })?;
        add(&mut data, source)?;
    }
    for source in bundled {
        add(&mut data, source)?;
    }
    Ok(data)
}

fn add(data: &mut Vec<DataSource>, source: DataSource) -> Result<(), ConfigError> {
    if data.iter().any(|d| d.name == source.name) {
        return Err(ConfigError::DataTwice(source.name));
    }
    data.push(source);
    Ok(())
}

fn data_from_file(source: &Source, file: &RunFile) -> Result<Vec<DataSource>, ConfigError> {
    file.data
        .iter()
        .map(|(name, spec)| {
            let at = ["data", name.as_str()];
            let format = match spec.format.as_deref() {
                None => None,
                Some("csv") => Some(DataFormat::Csv),
                Some("jsonl" | "ndjson" | "json-lines") => Some(DataFormat::JsonLines),
                Some(other) => {
                    return Err(
                        source.error(&["data", name, "format"], format!("unknown format {other:?}; use csv or jsonl"))
                    );
                }
            };
            DataSource::new(name.clone(), source.dir().join(&spec.path), format).map_err(|err| source.error(&at, err))
        })
        .collect()
}
