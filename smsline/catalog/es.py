"""Spanish (Latin American, tu form): every key of messages.EN.

GSM-7 only: it has ñ, é, ü, ¿ and ¡ but no á, í, ó or ú, so those accents are
dropped the way people do in SMS ("esta", "aqui", "mas", "numero"); a word
whose only accent is é keeps it ("estés", "después", "inglés"). Commands stay
the keywords the parser reads (START, OK, BUDDY, ...); the Spanish variants it
also accepts (AYUDA, SI, VOY, UNIRME, MAS) are mentioned where natural.
A buddy is a "contacto (de confianza)"; organizers are "el equipo organizador",
which keeps the texts free of gender.
"""

TEXTS = {
    # Timers
    "start_ok": "Temporizador activo hasta {end_at}. Manda OK cuando estés a salvo.",
    "start_replaced": "Tu temporizador anterior ya no corre. El nuevo va hasta {end_at}. "
                      "Manda OK cuando estés a salvo.",
    "start_no_buddy": "Aun no tienes contacto confirmado, asi que tus alertas van al equipo organizador. "
                      "Agrega uno: BUDDY numero nombre",
    "start_usage": "Para empezar: START 60 (minutos), START 1h30 o START 10:30pm. "
                   "Después puedes poner donde o con quién.",
    "bad_duration": "El tiempo va de 1 minuto a 24 horas, por ej. START 45, START 1h30 o START 10:30pm.",
    "ok_no_timer": "No hay temporizador activo. Manda START 60 para empezar uno.",
    "ok_ended": "¡Qué bueno! Tu temporizador ya se detuvo.",
    "ok_after_alert": "¡Qué bueno! Tu temporizador ya se detuvo y estamos avisando a quienes recibieron "
                      "la alerta que ya estas bien.",
    "ok_unclear": "Para detener tu temporizador, manda solo OK. Tu temporizador sigue corriendo.",
    "no_timer": "No hay temporizador activo. Manda START 60 para empezar uno.",
    "extend_ok": "Ahora tu temporizador corre hasta {end_at}. Manda OK cuando estés a salvo.",
    "extend_too_late": "Las alertas ya salieron, asi que la hora ya no se puede cambiar. "
                       "Manda OK cuando estés a salvo.",
    "extend_too_long": "Un temporizador dura 24 horas como maximo. Sigue hasta {end_at}.",
    "extend_usage": "Para sumar tiempo: EXTEND 30 (o MAS 30), EXTEND 1h o EXTEND 1h30.",
    "sos_ok": "Alerta enviada. Manda OK cuando estés a salvo.",
    "sos_nobody": "No se pudo avisar a nadie: agrega un contacto con BUDDY numero nombre.",
    "status_none": "No hay temporizador activo. Manda START 60 para empezar uno.",
    "status_running": "Temporizador activo hasta {end_at}.{note_part}",
    "status_overdue": "Se acabo el tiempo. Si no mandas OK, las alertas salen a las {alert_at}.",
    "status_alerting": "Las alertas salieron a las {alert_at}.{ack_part} Manda OK cuando estés a salvo.",
    "reminder": "Recordatorio: tu temporizador termina a las {end_at}. Manda OK si estas a salvo, o EXTEND 30 para "
                "mas tiempo.",
    "timeup": "Se acabo tu tiempo. Manda OK ya, o avisamos a tus contactos en {minutes} min.",
    "member_alerted": "Ya avisamos a tus contactos. Manda OK cuando estés a salvo.",
    "alert_undelivered": "Tu alerta no le llego a {names}. Tambien estamos avisando al equipo organizador. "
                         "Manda OK cuando estés a salvo.",
    "no_buddy_reachable": "No se le puede escribir a ninguno de tus contactos. Estamos avisando al equipo "
                          "organizador. Manda OK cuando estés a salvo.",
    "member_alerted_org": "No tienes contacto, asi que avisamos al equipo organizador. "
                          "Manda OK cuando estés a salvo.",
    # Alerts (to buddies and organizers)
    "alert": "{network}: {member} no se ha reportado. Temporizador desde {started_at}.{note_part} "
             "Primero: llama o escribe ya. Si no contesta, ve o manda a alguien a donde dice la nota. "
             "Responde ACK (o VOY) cuando te estés encargando.",
    "alert_repeat": "{network}: {member} sigue sin reportarse (alerta {round}; la primera fue a las {alert_at}). "
                    "Temporizador desde {started_at}.{note_part} Llama o escribe ya. Responde ACK (o VOY) cuando "
                    "te estés encargando.",
    "alert_last": "{network}: ULTIMA ALERTA. {member} no se ha reportado desde la alerta de las {alert_at}. "
                  "Temporizador desde {started_at}.{note_part} Ya no se mandaran mas avisos. Por favor actua ya.",
    "sos": "{network}: {member} pide ayuda ahora ({alert_at}).{note_part} "
           "Primero: llama o escribe. Si no contesta, ve o manda a alguien. "
           "Responde ACK (o VOY) cuando te estés encargando.",
    "ack_stale": "{network}: {member} sigue sin reportarse desde la alerta de las {alert_at}, aunque alguien ya "
                 "dijo que se encarga.{note_part} Por favor da seguimiento.",
    "ack_member": "{by} vio tu alerta y ya se esta encargando.",
    "ack_others": "{by} ya se esta encargando de la alerta de {member}.",
    "ack_ok": "Gracias. Avisamos a los demas que te estas encargando de: {names}.",
    "ack_already": "Gracias. Alguien ya se esta encargando de: {names}.",
    "ack_none": "No tienes ninguna alerta abierta ahora.",
    "standdown": "{network}: {member} esta a salvo. Ya no hace falta seguir con la alerta de las {alert_at}. "
                 "Gracias.",
    # Membership
    "invite_member": "{network}: te invitan a una linea por SMS para avisar que estas bien. "
                     "Responde JOIN (o UNIRME) para aceptar, o ignora este mensaje. "
                     "Responde STOP para no recibir mas mensajes.",
    "join_ok": "Te damos la bienvenida a {network}. Tus contactos te veran como {alias}. "
               "Agrega uno: BUDDY numero nombre. AYUDA para mas.",
    "join_none": "No hay ninguna invitacion para este numero.",
    "add_ok": "Invitacion enviada a {number}. Tiene que responder JOIN.",
    "add_already": "{number} ya es miembro.",
    "add_usage": "Para invitar a alguien: ADD numero alias, por ej. ADD 415 555 0100 Rosa",
    "bad_number": "No pude leer ese numero. Escribelo asi: +14155550100 o 415 555 0100.",
    "rate_limited": "Demasiadas invitaciones por ahora. Intenta mas tarde.",
    "not_allowed": "Solo el equipo organizador puede hacer eso. Manda AYUDA (o HELP) para ver tus comandos.",
    "remove_ok": "{number} ya no es miembro.",
    "remove_unknown": "{number} no es miembro.",
    "remove_usage": "Para quitar a alguien: REMOVE numero",
    "removed_notice": "Ya no estas en {network}. Gracias.",
    "invite_organizer": "{network}: te invitan a ayudar a llevar esta linea como parte del equipo organizador. "
                        "Responde YES (o SI) para aceptar, o ignora este mensaje.",
    "organizer_invited": "Invitacion enviada a {number}. Tiene que responder YES.",
    "organizer_ok": "Ya eres parte del equipo organizador de {network}. Manda AYUDA (o HELP) para ver tus comandos.",
    "organizer_usage": "Para invitar a alguien al equipo organizador: ORGANIZER numero",
    "members_count": "Miembros: {count}.{list_part}",
    # Buddies
    "invite_buddy": "{network}: {member} te pide ser su contacto de confianza. Si no se reporta a tiempo, "
                    "te llega un mensaje. Responde YES (o SI) para aceptar o NO para decir que no.",
    "buddy_invited": "Invitacion enviada a {number}. Recibira tus alertas cuando responda YES.",
    "buddy_usage": "Para agregar un contacto: BUDDY numero nombre, por ej. BUDDY 415 555 0100 Sam",
    "buddy_self": "No puedes ser tu propio contacto.",
    "buddy_already": "{number} ya es tu contacto.",
    "buddy_blocked": "No se puede invitar a ese numero.",
    "buddy_yes": "Ya eres contacto de confianza de {member}. Si no se reporta a tiempo, te llega un mensaje: "
                 "ahi respondes ACK.",
    "buddy_accepted": "{name} dijo que si: recibira tus alertas.",
    "buddy_no": "Listo. No recibiras mas invitaciones de esa persona.",
    "buddy_declined": "{name} prefirio no ser tu contacto.",
    "yes_which": "Tienes {count} invitaciones: {list}. Responde YES (o SI) y el numero, por ej. YES 1.",
    "yes_none": "No hay nada esperando respuesta.",
    "buddies_list": "Contactos: {list}",
    "buddies_none": "Aun no tienes contactos. Agrega uno: BUDDY numero nombre",
    "unbuddy_ok": "{number} ya no recibira tus alertas.",
    "unbuddy_unknown": "{number} no es uno de tus contactos.",
    "unbuddy_usage": "Para quitar un contacto: UNBUDDY numero",
    "unbuddied": "Ya no recibiras alertas de {member}.",
    "name_ok": "Ahora tus contactos te veran como {alias}.",
    "name_usage": "Para elegir el nombre que ven tus contactos: NAME alias (hasta 20 letras).",
    # Covert safety, TEST, WIPE
    "word_set": "Listo. Borra este mensaje y el tuyo del telefono.",
    "word_off": "Listo, ya lo quitamos. Borra este mensaje y el tuyo del telefono.",
    "word_usage": "Pregunta al equipo organizador como activarlo.",
    "word_bad": "Esa no sirve: elige una sola palabra de 3 a 30 letras o numeros.",
    "word_is_command": "Esa palabra es un comando de esta linea; elige otra.",
    "word_same": "Las dos palabras tienen que ser distintas; elige otra.",
    "word_needs_safe": "Para cambiar esto, incluye tu palabra actual en el mismo mensaje.",
    "duress": "{network}: alarma silenciosa de {member} ({alert_at}). Tal vez no pueda hablar libremente. No le "
              "escribas sobre esto; mejor llama con cualquier pretexto, o ve o manda a alguien.{note_part} "
              "Responde ACK (o VOY) cuando te estés encargando.",
    "test_buddy": "{network}: SOLO ES UNA PRUEBA de {member}. Todo esta bien. Es para revisar que te lleguen "
                  "las alertas.",
    "test_sent": "Prueba enviada. Contactos a los que llego: {count}.",
    "test_nobody": "No tienes contacto confirmado para la prueba. Agrega uno: BUDDY numero nombre",
    "test_undelivered": "Tu prueba no le llego a {name}. Revisa el numero con esa persona.",
    "wipe_confirm": "Esto borra todo lo guardado sobre este numero. Responde WIPE YES para confirmar.",
    "wipe_done": "Listo: borramos todo lo guardado sobre este numero.",
    "buddy_link_ended": "{name} ya no es tu contacto.",
    # General
    "help": "{network}: START 60 (donde, con quién) inicia un temporizador. Solo OK (o LISTO) lo termina. "
            "EXTEND 30 suma tiempo. SOS avisa ya a tus contactos. STATUS (o ESTADO) muestra tu temporizador. "
            "BUDDY numero nombre, BUDDIES, UNBUDDY numero. NAME alias. LANG EN para inglés. "
            "STOP corta todos los mensajes.",
    "help_organizer": "Equipo organizador: ADD numero alias, REMOVE numero, ORGANIZER numero, MEMBERS, "
                      "BROADCAST texto, REPORTS, APPROVE id (SEND), REJECT id, CARD ES texto.",
    "help_more": "Mas: DERECHOS (tu tarjeta de derechos), REPORT lo que paso (aviso de mala experiencia), "
                 "CHECK numero o placa, LANG EN, WIPE borra tus datos. STOP detiene todos los mensajes.",
    "help_buddy": "{network}: eres contacto de confianza. Cuando llegue una alerta, responde ACK (o VOY) "
                  "cuando te estés encargando. YES (o SI) o NO responde a una invitacion. "
                  "STOP corta todos los mensajes.",
    "unknown": "Disculpa, no entendi. Manda AYUDA (o HELP) para ver los comandos.",
    "did_you_mean": "¿Quisiste decir {suggestion}? No se hizo nada. Mandalo de nuevo para hacerlo.",
    "help_running": "Tu temporizador corre hasta {end_at}. Solo OK lo termina; STOP no. "
                    "SOS avisa ya a tus contactos.",
    "empty": "Tu mensaje llego vacio. Manda AYUDA (o HELP) para ver los comandos.",
    "stranger": "Este numero solo responde a personas invitadas.",
    "lang_ok": "Los mensajes a este numero llegaran en español.",
    "lang_usage": "Idiomas: LANG EN (inglés), LANG ES (español).",
    "line_down": "{network}: la linea no puede mandar alarmas por ahora. No confies en los temporizadores "
                 "hasta que te avisemos que ya funciona.",
    "line_up": "{network}: la linea ya funciona de nuevo y vuelve a mandar alarmas.",
    "not_available": "Ese comando aun no esta disponible en esta linea.",
    # Pieces other texts are built from.
    "part_note": " Nota: {note}.",
    "part_ack": " {by} dijo que se encarga.",
    "part_list": " {list}",
    "part_reached": " Recibieron: {names}.",
    "part_missed": " No recibieron: {names}.",
    # Network: reports, screening, broadcasts, rights card
    "report_usage": "Para avisar al equipo organizador sobre alguien: REPORT y lo que paso, con su numero o placa "
                    "si los tienes.",
    "report_ok": "Gracias. Tu reporte es #{id}. El equipo organizador lo va a revisar. Tu nombre y tu numero nunca "
                 "se muestran a nadie mas.",
    "report_limited": "Demasiados reportes por ahora. Intenta mas tarde.",
    "report_forward": "{network}: reporte #{id} de {alias}:{list_part} {note} Responde APPROVE {id} para usarlo en "
                      "CHECK, APPROVE {id} SEND para avisar tambien a todo el grupo, o REJECT {id}.",
    "redacted_number": "[numero]",
    "redacted_plate": "[placa]",
    "redacted_name": "[nombre]",
    "report_unknown": "No hay ningun reporte abierto #{id}.",
    "report_already": "El reporte #{id} ya esta aprobado.",
    "approve_ok": "Reporte #{id} aprobado: ya cuenta para CHECK.",
    "approve_sent": "Reporte #{id} aprobado y el aviso va saliendo. Miembros: {count}. Mensajes: {texts}, unos "
                    "{minutes} min.",
    "approve_usage": "Para aprobar un reporte: APPROVE id, o APPROVE id SEND para avisar tambien a todo el grupo.",
    "reject_ok": "El reporte #{id} quedo descartado.",
    "reject_usage": "Para descartar un reporte: REJECT id",
    "reports_list": "Por revisar: {list}{list_part}. Responde APPROVE id o REJECT id.",
    "reports_none": "No hay reportes por revisar.",
    "check_usage": "Para revisar a alguien: CHECK y su numero o placa, por ej. CHECK 415 555 0100 o CHECK 7ABC123.",
    "check_bad": "Eso no es un numero de telefono ni una placa. Prueba CHECK 415 555 0100 o CHECK 7ABC123.",
    "check_none": "Ningun aviso aprobado coincide. Cuidate igual: avisa a tu contacto y usa START.",
    "check_found": "Avisos aprobados que coinciden: {count}. {list}. Piensalo bien; si vas, avisa a tu contacto y "
                   "usa START.",
    "check_limited": "Demasiadas revisiones por ahora. Intenta de nuevo en una hora.",
    "cat_violence": "violencia",
    "cat_robbery": "robo",
    "cat_protection": "se quito la proteccion",
    "cat_no_pay": "no pago",
    "cat_threats": "amenazas",
    "cat_drugging": "drogar a escondidas",
    "cat_other": "otro",
    "broadcast": "{note}",
    "broadcast_usage": "Para escribir a todo el grupo: BROADCAST y tu mensaje, de 459 caracteres como maximo.",
    "broadcast_too_long": "Son {count} caracteres ({texts} mensajes). El maximo es 459 (3 mensajes). Acortalo, por "
                          "favor.",
    "broadcast_none": "Todavia no hay a quien enviarlo.",
    "broadcast_ok": "Enviando ya. Miembros: {count}. Mensajes: {texts}, unos {minutes} min. Te avisamos cuando "
                    "todo haya salido.",
    "broadcast_done": "Tu mensaje ya salio. Miembros que lo reciben: {count}.",
    "rights": "{note}",
    "card_usage": "Para cambiar la tarjeta de derechos: CARD y el texto, o CARD ES y el texto en español. "
                  "Maximo 459 caracteres.",
    "card_too_long": "Esa tarjeta tiene {count} caracteres ({texts} mensajes). El maximo es 459 (3 mensajes). "
                     "Acortala.",
    "card_confirm": "La nueva tarjeta en {language} tiene {count} caracteres. Responde CARD YES (o CARD SI) en 10 "
                    "min para usarla, o CARD NO.",
    "card_ok": "Listo, cambiamos la tarjeta de derechos en {language}. El grupo la recibe con RIGHTS (o DERECHOS).",
    "card_cancelled": "Listo, la nueva tarjeta no se va a usar.",
    "card_nothing": "No hay tarjeta nueva esperando. Manda primero CARD y el texto.",
    "part_ids": " Numeros o placas: {list}.",
    "part_more": " y {count} mas",
    "part_waiting": " (pendiente)",
    "label_member": "para unirte",
    "label_organizer": "para organizar",
    "days": "lun mar mie jue vie sab dom",
    "clock": "24h",
    # crypt: wipe
    "wipe_last_org": "Eres la ultima persona organizadora: borrar este numero dejaria la linea sin nadie. "
                     "Primero suma a otra (ORGANIZER numero), luego WIPE.",
    # crypt: reports
    "report_full_gone": "El reporte #{id} esta aprobado, pero su texto completo ya no se guarda. "
                        "Para avisar a todo el grupo, usa BROADCAST con tus palabras.",
}
