#pragma once

namespace switchboard::app {

/// The git commit the binary was built from (`git rev-parse --short HEAD` at build time), or
/// "unknown" outside a git checkout. Defined in a generated file of its own, so a new commit
/// recompiles one file and relinks the binary, nothing else.
const char* build_commit();

} // namespace switchboard::app
