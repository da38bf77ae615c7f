// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod camera;
#[cfg(test)]
mod capability_check;
mod carryback_commands;
mod commands;
mod day_commands;
mod instance;
mod key_commands;
mod keys;
mod logging;
mod retention;
mod sign_off;
mod state;
mod sync_commands;
mod sync_service;
mod viewing;
mod visit_commands;

fn main() {
    logging::init();
    state::run();
}
