#!/usr/bin/env bash
# ActiveMQ classic (Debian package `activemq`, Java 17) with a STOMP connector, for the PanDA/iDDS
# runner tests (tier A: the iDDS result channel).
#   STOMP    stomp://127.0.0.1:$DETOPT_AMQ_STOMP_PORT (61633), OpenWire 127.0.0.1:$DETOPT_AMQ_OPENWIRE_PORT
#   one user idds / idds-pw (anonymous access refused), non-persistent broker
#   conf, data and logs under $DETOPT_STATE_DIR/amq (recreated on every start)
#   writes $DETOPT_STATE_DIR/activemq.env with DETOPT_TEST_AMQ_STOMP and the IDDS_BROKER* settings
# The JVM runs in the foreground of its own session; its PID is recorded and stop_all.sh stops it.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

AMQ=$DETOPT_STATE_DIR/amq
STOMP=$DETOPT_AMQ_STOMP_PORT
OPENWIRE=$DETOPT_AMQ_OPENWIRE_PORT
HOME_DIR=/usr/share/activemq
[ -r "$HOME_DIR/bin/activemq.jar" ] || die "no $HOME_DIR/bin/activemq.jar (apt-get install activemq)"
command -v java > /dev/null || die "no java on PATH (apt-get install default-jre-headless)"

t0=$(now_s)
check_state_dir
stop_activemq
rm -rf "$AMQ"
mkdir -p "$AMQ/conf" "$AMQ/data"
require_ports_free "$STOMP" "$OPENWIRE"

ok=0
trap '[ $ok = 1 ] || { log "ActiveMQ did not start; stopping what was started"; stop_activemq; }' EXIT

cat > "$AMQ/conf/activemq.xml" <<XML
<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="detopt-test" useJmx="false"
          persistent="false" dataDirectory="\${activemq.data}">
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users><authenticationUser username="idds" password="idds-pw" groups="users,admins"/></users>
      </simpleAuthenticationPlugin>
    </plugins>
    <transportConnectors>
      <transportConnector name="openwire" uri="tcp://127.0.0.1:$OPENWIRE"/>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:$STOMP?transport.closeAsync=false"/>
    </transportConnectors>
  </broker>
</beans>
XML
# Debian's build logs through log4j 1.2: without this file it logs nothing
cat > "$AMQ/conf/log4j.properties" <<'PROPS'
log4j.rootLogger=INFO, logfile
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.logfile=org.apache.log4j.FileAppender
log4j.appender.logfile.File=${activemq.data}/activemq.log
log4j.appender.logfile.layout=org.apache.log4j.PatternLayout
log4j.appender.logfile.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
PROPS

svc_start activemq "activemq.jar" "$AMQ/data/stdout.log" \
  java -Xms64M -Xmx256M -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Dactivemq.home="$HOME_DIR" -Dactivemq.base="$AMQ" -Dactivemq.conf="$AMQ/conf" \
  -Dactivemq.data="$AMQ/data" -Dlog4j.configuration="file:$AMQ/conf/log4j.properties" \
  -jar "$HOME_DIR/bin/activemq.jar" start "xbean:file:$AMQ/conf/activemq.xml"
# the first start of a cold JVM can take ~25 s on a loaded 2-core machine
wait_for "ActiveMQ STOMP on 127.0.0.1:$STOMP" "$DETOPT_SERVICE_TIMEOUT" activemq \
  "$AMQ/data/stdout.log" "$AMQ/data/activemq.log" -- port_busy "$STOMP"

write_env activemq <<ENV
export DETOPT_TEST_AMQ_STOMP='127.0.0.1:$STOMP'
export DETOPT_TEST_AMQ_USER='idds' DETOPT_TEST_AMQ_PASSWORD='idds-pw'
export DETOPT_TEST_AMQ_DESTINATION='/topic/detopt.idds.asyncresult'
ENV
ok=1
log "ActiveMQ up in $(elapsed "$t0")s: stomp://127.0.0.1:$STOMP (user idds)"
