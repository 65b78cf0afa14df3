// Starts Amazon's DynamoDB Local listening on 127.0.0.1 only.
// DynamoDB Local has no bind-address option: its Jetty server listens on every
// interface. This launcher builds the server from the usual command-line
// arguments, sets the host of each connector before it opens, then starts it.
// Run with Java 11+ in source-file mode:
//   java -Djava.library.path=<lib> -cp DynamoDBLocal.jar LoopbackDynamoDB.java -port N ...
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public class LoopbackDynamoDB {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost("127.0.0.1");
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on 127.0.0.1");
        proxy.join();
    }
}
