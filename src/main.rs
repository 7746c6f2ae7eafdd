//! The `hookarr` binary: parse the command line and hand over to [`hookarr::cli::run`].

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = hookarr::cli::Cli::parse();
    match hookarr::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("hookarr: {error:#}");
            ExitCode::FAILURE
        }
    }
}
