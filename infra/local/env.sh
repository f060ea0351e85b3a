# Exports the settings of stack.env that the environment does not already
# set: the environment always wins. Sourced by the stack scripts and the
# Makefile.
_stack_env_file="$(dirname "${BASH_SOURCE[0]}")/stack.env"
# Split at the first '=' by hand: `IFS='=' read` would drop a value's
# trailing '=' (base64 padding).
while IFS= read -r _line; do
    case "$_line" in
    '' | \#*) continue ;;
    esac
    _key=${_line%%=*}
    _value=${_line#*=}
    if [ -z "${!_key+set}" ]; then
        export "$_key=$_value"
    fi
done <"$_stack_env_file"
unset _line _key _value _stack_env_file
# This is the local stack: its services may use the committed secrets above.
export INTAKE_LOCAL_STACK="${INTAKE_LOCAL_STACK:-true}"
