# Installs the already-built nabla into WORK_DIR/prefix, then configures, builds and runs the
# consumer project against it. Any failure fails the test.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${NABLA_BINARY_DIR} --prefix ${WORK_DIR}/prefix)
foreach(_file share/doc/nabla/LICENSE share/doc/nabla/CHANGELOG.md include/nabla/version.hpp)
  if(NOT EXISTS ${WORK_DIR}/prefix/${_file})
    message(FATAL_ERROR "the install lacks ${_file}")
  endif()
endforeach()
# find_package(nabla 0.2 REQUIRED), as the consumer asks, works...
# The consumer is built with nabla's compiler and sanitizer flags (an ASan build's libraries need
# the ASan runtime in the program that links them).
set(_consumer_options)
if(CONSUMER_CXX)
  list(APPEND _consumer_options -DCMAKE_CXX_COMPILER=${CONSUMER_CXX})
endif()
if(CONSUMER_FLAGS)
  list(APPEND _consumer_options "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}")
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release ${_consumer_options})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run(${WORK_DIR}/build/consumer)
if(EXISTS ${WORK_DIR}/build/consumer_distributed)
  run(${WORK_DIR}/build/consumer_distributed)
endif()
# ...and a version the package is not compatible with is refused.
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build-wrong-version
                -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DNABLA_WANTED_VERSION=9.0
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT "${out}${err}" MATCHES "considered but not accepted")
  message(FATAL_ERROR "find_package(nabla 9.0) should fail with the version file's reason:\n${out}\n${err}")
endif()
message(STATUS "consumer project built and ran against ${WORK_DIR}/prefix")
