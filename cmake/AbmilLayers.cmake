# abmil_add_layer(NAME [PUBLIC layer...] [PRIVATE layer...])
#
# One static library per folder src/abmil/NAME (target abmil_NAME, alias and
# exported name abmil::NAME), built from the folder's *.cpp (CONFIGURE_DEPENDS:
# a file added to the folder is picked up). PUBLIC: layers whose types the
# layer's headers use; PRIVATE: layers only its .cpp files use. The layers
# named are the only ones, with theirs transitively, whose headers the layer
# may include: abmil_add_layer_check() turns the declarations into the build
# step and the test that enforce it (cmake/check_layers.py).
function(abmil_add_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "PUBLIC;PRIVATE")
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/abmil/${name}/*.cpp)
  add_library(abmil_${name} STATIC ${sources})
  add_library(abmil::${name} ALIAS abmil_${name})
  set_target_properties(abmil_${name} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(abmil_${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
                                                  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_options(abmil_${name} PRIVATE -Wall -Wextra)
  foreach(scope PUBLIC PRIVATE)
    foreach(dep IN LISTS arg_${scope})
      if(NOT TARGET abmil_${dep})
        message(FATAL_ERROR "abmil_add_layer(${name}): layer '${dep}' is not declared below it")
      endif()
      target_link_libraries(abmil_${name} ${scope} abmil_${dep})
    endforeach()
  endforeach()
  set(deps ${arg_PUBLIC} ${arg_PRIVATE})
  list(JOIN deps "," deps)
  set_property(GLOBAL APPEND PROPERTY ABMIL_LAYERS ${name})
  set_property(GLOBAL APPEND PROPERTY ABMIL_LAYER_GRAPH "${name}=${deps}")
endfunction()

# abmil_add_layer_check(PYTHON): after every abmil_add_layer, a build step
# (target abmil_layer_check, part of ALL) and the tests LayerIncludes and
# LayerIncludes.self_test that fail on a wrong-way include, naming file, line
# and the forbidden layer.
function(abmil_add_layer_check python)
  get_property(graph GLOBAL PROPERTY ABMIL_LAYER_GRAPH)
  set(script ${PROJECT_SOURCE_DIR}/cmake/check_layers.py)
  set(args --src ${PROJECT_SOURCE_DIR}/src)
  foreach(layer IN LISTS graph)
    list(APPEND args --layer ${layer})
  endforeach()
  file(GLOB_RECURSE files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/abmil/*.h
       ${PROJECT_SOURCE_DIR}/src/abmil/*.cpp)
  set(stamp ${CMAKE_CURRENT_BINARY_DIR}/abmil_layer_check.stamp)
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${python} ${script} ${args}
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${script} ${files}
    COMMENT "Checking the layer includes (cmake/check_layers.py)"
    VERBATIM)
  add_custom_target(abmil_layer_check ALL DEPENDS ${stamp})
  if(ABMIL_BUILD_TESTS)
    enable_testing()
    add_test(NAME LayerIncludes COMMAND ${python} ${script} ${args})
    add_test(NAME LayerIncludes.self_test COMMAND ${python} ${script} --self-test)
    set_tests_properties(LayerIncludes LayerIncludes.self_test PROPERTIES LABELS layers TIMEOUT 60)
  endif()
endfunction()
