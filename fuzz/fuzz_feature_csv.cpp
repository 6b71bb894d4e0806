// libFuzzer target: the feature-bag CSV reader on arbitrary bytes. Any input
// must give a FeatureTable or a DataError.
#include <cstddef>
#include <cstdint>

#include "abmil/data/feature_csv.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  abmil_fuzz::MemFile file(data, size);
  try {
    (void)abmil::read_feature_csv(file.path());
  } catch (const abmil::DataError&) {
  }
  return 0;
}
