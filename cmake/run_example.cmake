# run_example.cmake — installs the built swacl into a prefix inside the build tree,
# builds examples/ against it with find_package(swacl) as a separate project, and
# runs engine_loop. Called by ctest:
#   cmake -DBUILD=<build dir> -DSRC=<source dir> -DCC=<compiler> -DFLAGS=<C and link flags>
#         -P run_example.cmake
set(prefix ${BUILD}/example-install)
set(ebuild ${BUILD}/example-build)
file(REMOVE_RECURSE ${prefix} ${ebuild})
foreach(step
    "${CMAKE_COMMAND};--install;${BUILD};--prefix;${prefix}"
    "${CMAKE_COMMAND};-S;${SRC}/examples;-B;${ebuild};-DCMAKE_PREFIX_PATH=${prefix};-DCMAKE_BUILD_TYPE=Release;-DCMAKE_C_COMPILER=${CC};-DCMAKE_C_FLAGS=${FLAGS};-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}"
    "${CMAKE_COMMAND};--build;${ebuild}"
    "${ebuild}/engine_loop")
  execute_process(COMMAND ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REPLACE ";" " " shown "${step}")
  if(rc EQUAL 77) # no OpenCL device: the test's SKIP_REGULAR_EXPRESSION matches this
    message("${out}")
    message("skipped: ${shown}")
    return()
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${shown}: exit ${rc}\n${out}")
  endif()
  message("${out}")
endforeach()
