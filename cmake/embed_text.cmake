# Writes OUT: a C++ file defining `const std::string& NAME()` in NAMESPACE holding FILE's text.
file(READ "${FILE}" text)
set(body "// Generated from ${FILE}; do not edit.\n#include <string>\n\nnamespace ${NAMESPACE} {\n\n")
string(APPEND body "const std::string& ${NAME}() {\n  static const std::string text = R\"sbembed(${text})sbembed\";\n  return text;\n}\n\n}\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
