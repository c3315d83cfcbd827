# bash completion for ustackctl(1)
_ustackctl() {
	local cur prev words cword
	_init_completion || return

	local globals="--socket --json --help --version"
	local cmds="status stats arp sockets ping traceroute tcp udp capture kv"
	local i cmd="" sub="" nargs=0
	case $prev in
	--socket | -S)
		_filedir
		return
		;;
	-w)
		# capture -w FILE; udp send -w SECS and traceroute -w SECS take numbers
		for ((i = 1; i < cword; i++)); do
			[[ ${words[i]} == capture ]] && { _filedir; return; }
		done
		return
		;;
	-c | -s | -t | -i | -W | -m | -q | -p | -d) return ;;
	esac
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket | -S) ((i++)) ;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${words[i]}
			elif [[ -z $sub ]]; then
				sub=${words[i]}
			else
				((nargs++))
			fi
			;;
		esac
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$globals" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		fi
		return
	fi
	case $cmd in
	arp) [[ -z $sub ]] && COMPREPLY=($(compgen -W "add del" -- "$cur")) ;;
	ping) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "-c -s -t -i -W" -- "$cur")) ;;
	traceroute) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "-m -q -w -p -I -U" -- "$cur")) ;;
	tcp)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W "connect listen" -- "$cur"))
		elif [[ $sub == listen && $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-k" -- "$cur"))
		fi
		;;
	udp)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W "send listen" -- "$cur"))
		elif [[ $cur == -* ]]; then
			[[ $sub == send ]] && COMPREPLY=($(compgen -W "-w" -- "$cur"))
			[[ $sub == listen ]] && COMPREPLY=($(compgen -W "-c" -- "$cur"))
		fi
		;;
	capture) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "-w -c -d -s" -- "$cur")) ;;
	kv) [[ -z $sub ]] && COMPREPLY=($(compgen -W "get set ls rm exists mtime digest mv batch" -- "$cur")) ;;
	esac
} &&
	complete -F _ustackctl ustackctl
