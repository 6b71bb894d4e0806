# The ctest consumer.installed_package (cmake -P): installs the build tree
# BUILD_DIR to WORK_DIR/prefix (cmake --install), configures and builds
# SOURCE_DIR/tests/consumer against it (-DCMAKE_PREFIX_PATH), runs the program
# and checks its output. WORK_DIR is a fixed folder, emptied first, so that
# ccache (LAUNCHER, when the build uses it) finds the consumer's object again.
# LINKER_FLAGS: the build's CMAKE_EXE_LINKER_FLAGS, so that a consumer of a
# sanitized build (scripts/sanitize.sh) links the sanitizer runtimes too.
# -D BUILD_DIR= SOURCE_DIR= WORK_DIR= GENERATOR= CXX_COMPILER= [LAUNCHER=] [LINKER_FLAGS=]
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "consumer_test.cmake: -D${var}= missing")
  endif()
endforeach()
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${prefix} ${build})

function(step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: ${name} failed (${rc}):\n${out}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
set(launcher)
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
set(linker_flags)
if(LINKER_FLAGS)
  set(linker_flags "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
endif()
step("configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${build} -G ${GENERATOR}
     -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} ${launcher}
     ${linker_flags})
string(REGEX MATCH "abmil [0-9.]+ from [^\n]*" found "${step_output}")
message(STATUS "${found}")
if(NOT found MATCHES "from ${prefix}/")
  message(FATAL_ERROR "consumer test: abmil not found in ${prefix}:\n${step_output}")
endif()
step("build" ${CMAKE_COMMAND} --build ${build})
step("run" ${build}/abmil_consumer)
message(STATUS "${step_output}")
if(NOT step_output MATCHES "abmil consumer: mlp \\+ gated_attention, 5 instances, attention sum 1\\.0000, bag probability 0\\.[0-9]+")
  message(FATAL_ERROR "consumer test: unexpected output:\n${step_output}")
endif()
