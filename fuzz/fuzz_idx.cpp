// libFuzzer target: the IDX reader (plain or gzip) on arbitrary bytes, as an
// image file and as a label file. Any input must give data or a DataError.
#include <cstddef>
#include <cstdint>

#include "abmil/data/idx_reader.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  abmil_fuzz::MemFile file(data, size);
  try {
    (void)abmil::read_idx_images(file.path());
  } catch (const abmil::DataError&) {
  }
  try {
    (void)abmil::read_idx_labels(file.path());
  } catch (const abmil::DataError&) {
  }
  return 0;
}
