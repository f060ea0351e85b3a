# Exports the settings of stack.env that the environment does not already
# set: the environment always wins. Sourced by the stack scripts and the
# Makefile.
_stack_env_file="$(dirname "${BASH_SOURCE[0]}")/stack.env"
while IFS='=' read -r _key _value; do
    case "$_key" in
    '' | \#*) continue ;;
    esac
    if [ -z "${!_key+set}" ]; then
        export "$_key=$_value"
    fi
done <"$_stack_env_file"
unset _key _value _stack_env_file
# This is the local stack: its services may use the committed secrets above.
export INTAKE_LOCAL_STACK="${INTAKE_LOCAL_STACK:-true}"
