// The absolute paths the tests need, compiled into this file alone (see test_util.h).
#include "test_util.h"

namespace abmil_test {

const char* source_dir() { return ABMIL_SOURCE_DIR_PATH; }
const char* abmil_binary() { return ABMIL_BINARY_PATH; }

}  // namespace abmil_test
