// libFuzzer target: the YAML config loader (parse_config) on arbitrary text.
// Any input must give a Config or a ConfigError; anything else (another
// exception, a crash, a sanitizer report) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "abmil/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    abmil::Config c = abmil::parse_config(text, "fuzz.yaml");
    (void)abmil::config_to_yaml(c);  // what loads must also write back
  } catch (const abmil::ConfigError&) {
  }
  return 0;
}
